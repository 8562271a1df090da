"""Real servers on loopback for the harness and the benchmark: PostgreSQL, an SMTP sink with
fault modes, the service as a child process, and Kafka clients that send and read back."""
