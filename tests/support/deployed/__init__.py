"""The deployed-as-rendered tier: rendered Kubernetes workloads started as local processes."""
