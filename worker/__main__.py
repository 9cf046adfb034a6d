import sys

from worker.main import main

main(sys.argv[1:])
