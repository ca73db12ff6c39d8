from sqlmig.cli import main

main()
