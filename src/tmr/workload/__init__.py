"""The download workload: N concurrent clients fetching one package from this registry, bounded in
count and time, run from the operations dashboard; its runs are kept in the metadata store."""
