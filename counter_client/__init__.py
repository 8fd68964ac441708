"""hall-counter: the keypad counter client of Hall Queue.

A clerk's keypad (or any keyboard over SSH / tmux) drives one counter: one key calls
the next citizen, others recall, mark absent, finish, transfer, pause. Actions go to the
hub over HTTP with a per-press ``request_id``; the counter's live state comes over
Socket.IO (room ``counter:N``). See README.md in this folder.
"""
