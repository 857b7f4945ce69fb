from qstation.cli.main import cli

cli()
