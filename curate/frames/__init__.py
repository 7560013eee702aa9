"""``curate extract-frames``: decode each distinct video once into Parquet frame shards.

Modules: ``sampling`` (which frames), ``decoders`` (decord / PyAV / ffmpeg CLI), ``resize`` and
``encode`` (Pillow), ``extract`` (the stage: workers, shards, resume, manifest), ``verify``.
"""
