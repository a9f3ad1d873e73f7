"""One module per subcommand; see pyrometer.cli."""
