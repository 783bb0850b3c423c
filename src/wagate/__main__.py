from wagate.wiring.heap import quicken_start_up

quicken_start_up()

from wagate.cli.main import main  # noqa: E402 (imported once the collector is set)

main()
