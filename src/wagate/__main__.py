from wagate.cli.main import main

main()
