"""`python -m toybox APPLET ...` runs an applet from a checkout or an installed package."""
import sys

from toybox.main import main

main(["toybox"] + sys.argv[1:])
