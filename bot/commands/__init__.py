"""Every command of the DESIGN table, as handlers over the core's services.

`bot.commands.all.register_all` registers them; this package's import loads none of them."""
