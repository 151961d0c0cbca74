def test_help_lists_commands(invoke):
    result = invoke("--help")
    assert result.exit_code == 0
    assert "Usage" in result.stdout
