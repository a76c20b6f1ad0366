"""``netstudio train``: a project trained on a tensor file from the command line, on one process or many.

One concept per module: ``arguments`` (the command line), ``options``
(checked arguments), ``mapped`` (a memory-mapped safetensors file),
``samples`` (the data), ``order`` (which samples each step and rank uses),
``losses``, ``network`` (the compiled project), ``distributed`` (process
group and relaunch) with ``launch`` (torchrun without its crash report),
``run_dir`` (what a run writes), ``progress`` and ``loop``, which puts them
together.  ``diff`` compares two checkpoints.
The in-app training (``netstudio.run``) is separate; it reads dataset files
with ``samples`` and shares the losses, which live in ``netstudio.run.losses``.
"""
