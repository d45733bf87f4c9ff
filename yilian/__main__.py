from yilian.cli import main

main()
