"""Text in images: scanned pages, screenshots in slides, photos (see `reader.ImageReader`)."""
