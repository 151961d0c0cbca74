"""Reading and writing: label volumes, instance folders (ours and released 3DMSL), libraries.

The only modules of shapelib that touch the disk.
"""

__all__: list[str] = []
