from wallboard.cli import main

main()
