"""Run every benchmark: python -m benchmarks."""

from benchmarks import console, engine, replay

if __name__ == "__main__":
    engine.main([])
    console.main([])
    replay.main([])
