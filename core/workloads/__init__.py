"""The workloads: one package each (exchange/, files/), declared to the rest of the code through the registry
(core/workloads/registry.py). This package's own import is kept empty so that a module of one workload can be
imported without loading every other."""
