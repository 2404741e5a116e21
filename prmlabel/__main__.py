from prmlabel.cli import main

main()
