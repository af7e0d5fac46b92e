"""The frozen app's entry script (PyInstaller runs this file; the code lives in desktop.launcher)."""

from desktop.launcher import main

main()
