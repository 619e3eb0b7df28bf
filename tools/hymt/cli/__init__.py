"""The `hymt` command line: `hymt --help` lists the commands; each lives in its own module of this package."""
