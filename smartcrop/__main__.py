"""``python -m smartcrop``: the same as the ``smartcrop`` command."""

from smartcrop.cli import main

main()
