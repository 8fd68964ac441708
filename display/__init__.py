"""The hall screen: a pygame board that follows the hub and speaks the calls.

Modules: ``model`` (the board's rules, pure Python), ``network`` (its ``hallclient`` link to the hub),
``announcer`` and ``audio`` (the announcement queue, the clip pack, the speaker),
``fonts``, ``render`` and ``screen`` (drawing), ``app`` (the main loop) and ``__main__``
(the ``hall-display`` command). See display/README.md.
"""
