from zoning.cli import main

main()
