package store

// SingletonKey exposes a job's advisory lock key to the leader test.
var SingletonKey = singletonKey
