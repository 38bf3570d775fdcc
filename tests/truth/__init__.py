"""Known-truth corpus (issue 21): recordings from a signal model of its own, each with the
judgements a physiotherapist would make of it, to measure the program against.

``model`` makes the signals (not ``bbfeedback.exercise.simulate``: a corpus made by the
program's own simulator would share its blind spots), ``schedule`` places the patient's
squeezes on the protocol's cues, ``run`` scores a recording live and offline, ``cases`` names
each recording and its truth.
"""
