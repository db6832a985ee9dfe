from threadcast.cli import entry

entry()
