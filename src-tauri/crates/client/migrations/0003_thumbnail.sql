-- The link to the recording's poster, as the server last gave it.
ALTER TABLE recordings ADD COLUMN thumbnail_url TEXT;
