"""The parts of ``scripts/mutation.py``, NetStudio's mutation-testing tool, one concept a module.

``scripts/mutation.py`` stays the entry point (its docstring explains the method); it is run as a
file, so ``scripts/`` is on ``sys.path`` and this package imports as ``mutation_tool``.

- :mod:`.common`: where things are (ROOT, OUT_DIR), what is mutated (TARGETS), progress messages
- :mod:`.equivalents`: the mutants marked equivalent, with the reasons
- :mod:`.mutants`: making mutants with ``ast``, applying one, showing its diff
- :mod:`.mapping`: step 1, the traced run that maps target lines to the tests that run them
- :mod:`.livecode`: swapping the code of live functions (the runs and ``--try``)
- :mod:`.runner`: step 3, the forked children that run the tests against each mutant
- :mod:`.report`: step 4, the score table and lists
"""
