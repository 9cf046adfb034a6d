"""The knowledge graph: concepts and relations extracted from the material at ingestion,
searched by personalized PageRank alongside the chunks."""
