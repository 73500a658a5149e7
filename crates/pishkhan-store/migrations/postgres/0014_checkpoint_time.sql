-- A checkpoint's signing time was stored beside it but signed by nothing, so anyone with the
-- database could change it unseen by `pishkhan audit verify`, and nothing read it. The log
-- keeps only what the audit can check: a checkpoint is its size, root, note body and signature.
ALTER TABLE exchange_log_checkpoints DROP COLUMN at_ms;
