"""Versioned event payloads and the transactional outbox they travel through."""
