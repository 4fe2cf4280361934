"""Test helpers shared by the suites: real servers on loopback, a throwaway PostgreSQL."""
