"""Call quality: per-call reports, QoE metrics, breakdowns, call search, synthetic WebRTC probe, AI tutor latency."""
