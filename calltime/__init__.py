"""The `calltime` command. It owns no feature: each room registers its own subcommands."""
