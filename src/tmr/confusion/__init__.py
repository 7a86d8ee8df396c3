"""The package-confusion audit's core: names that imitate more popular ones, scored (pure).

``names`` says how one name imitates another; ``scoring`` weighs that with the popularity gap
and the suspect's download traffic. No I/O: the caller feeds names, counts and events.
"""
