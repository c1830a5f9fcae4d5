from parcelguard.cli import main

main()
