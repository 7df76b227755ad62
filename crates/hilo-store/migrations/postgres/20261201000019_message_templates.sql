-- A message sent as an approved template (WhatsApp outside its 24-hour window): the
-- template's name, language and parameters as JSON, for the job that sends it.
ALTER TABLE messages ADD COLUMN template TEXT;
