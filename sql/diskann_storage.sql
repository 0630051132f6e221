-- diskann storages: compressed (RaBitQ codes, re-ranked from the table) and
-- plain (float4 vectors in the index); the storage and bits options.

CREATE TABLE dsto (id int PRIMARY KEY, embedding vector(20), label int);
INSERT INTO dsto
SELECT i, (SELECT array_agg(sin(i * 0.71 + d * 1.3) + (i % 7) * 0.2)::vector(20)
		   FROM generate_series(1, 20) d), i % 5
FROM generate_series(1, 2000) i;
-- queries near rows (a row's vector and some noise)
CREATE TABLE dsto_q (qid int, embedding vector(20));
INSERT INTO dsto_q
SELECT q, (SELECT array_agg(sin(q * 97 * 0.71 + d * 1.3) + (q * 97 % 7) * 0.2 +
							0.3 * cos(q * d))::vector(20)
		   FROM generate_series(1, 20) d)
FROM generate_series(1, 20) q;

-- the default storage is compressed with 4 bits (L2, inner product, cosine)
CREATE INDEX dsto_l2 ON dsto USING diskann (embedding vector_l2_ops);
SELECT storage, bits, quantizer_rows, live_nodes FROM diskann_stats('dsto_l2');
SELECT * FROM diskann_verify('dsto_l2');
-- L1 cannot use codes: plain by default, compressed refused
CREATE INDEX dsto_l1 ON dsto USING diskann (embedding vector_l1_ops);
SELECT storage, bits, quantizer_rows FROM diskann_stats('dsto_l1');
DROP INDEX dsto_l1;
CREATE INDEX ON dsto USING diskann (embedding vector_l1_ops) WITH (storage = 'compressed');

-- option checks
CREATE INDEX ON dsto USING diskann (embedding) WITH (storage = 'zip');
CREATE INDEX ON dsto USING diskann (embedding) WITH (storage = '');
CREATE INDEX ON dsto USING diskann (embedding) WITH (bits = 3);
CREATE INDEX ON dsto USING diskann (embedding) WITH (bits = 16);
CREATE INDEX ON dsto USING diskann (embedding) WITH (bits = -1);
CREATE INDEX ON dsto USING diskann (embedding) WITH (bits = 'four');
CREATE INDEX ON dsto USING diskann (embedding) WITH (storage = 'plain', bits = 4);
ALTER INDEX dsto_l2 SET (bits = 5);
ALTER INDEX dsto_l2 SET (storage = 'gzip');
SELECT reloptions FROM pg_class WHERE relname = 'dsto_l2';

-- The index's answers for the 20 queries: how many are the exact top 10
-- in exact order, and the mean overlap with it (recall@10).
CREATE FUNCTION dsto_check(opclass text, op text, opts text)
RETURNS TABLE (storage text, bits int, exact_answers bigint, recall numeric)
LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE format('CREATE INDEX dsto_chk ON dsto USING diskann (embedding %s) WITH (%s)',
				   opclass, opts);
	SET LOCAL enable_seqscan = off;
	RETURN QUERY EXECUTE format($q$
		WITH idx AS (
			SELECT q.qid, ARRAY(SELECT id FROM dsto
								ORDER BY embedding %1$s q.embedding LIMIT 10) AS ids
			FROM dsto_q q),
		ex AS (
			SELECT q.qid, ARRAY(SELECT id FROM dsto
								ORDER BY (embedding %1$s q.embedding) + 0, id LIMIT 10) AS ids
			FROM dsto_q q)
		SELECT s.storage, s.bits, count(*) FILTER (WHERE idx.ids = ex.ids),
			   round(avg((SELECT count(*) FROM unnest(idx.ids) i
						  WHERE i = ANY (ex.ids)) / 10.0), 2)
		FROM idx JOIN ex USING (qid), diskann_stats('dsto_chk') s
		GROUP BY 1, 2$q$, op);
	DROP INDEX dsto_chk;
END
$$;

-- re-ranking every candidate: exact answers in exact order
SET diskann.query_rescore = 10000;
SELECT * FROM dsto_check('vector_l2_ops', '<->', 'bits = 1');
SELECT * FROM dsto_check('vector_l2_ops', '<->', 'bits = 2');
SELECT * FROM dsto_check('vector_l2_ops', '<->', 'bits = 4');
SELECT * FROM dsto_check('vector_l2_ops', '<->', 'bits = 8');
SELECT * FROM dsto_check('vector_ip_ops', '<#>', 'bits = 4');
SELECT * FROM dsto_check('vector_cosine_ops', '<=>', 'bits = 4');
SELECT * FROM dsto_check('vector_l2_ops', '<->', 'storage = plain');
RESET diskann.query_rescore;
-- at the default re-ranking depth, 4 bits: recall floors
SELECT storage, bits, recall >= 0.95 AS recall_ok
FROM dsto_check('vector_l2_ops', '<->', 'bits = 4');
SELECT storage, bits, recall >= 0.95 AS recall_ok
FROM dsto_check('vector_ip_ops', '<#>', 'bits = 4');
SELECT storage, bits, recall >= 0.95 AS recall_ok
FROM dsto_check('vector_cosine_ops', '<=>', 'bits = 4');
-- no re-ranking: rows in estimated order, still mostly right
SET diskann.query_rescore = 0;
SELECT storage, bits, recall >= 0.8 AS recall_ok
FROM dsto_check('vector_l2_ops', '<->', 'bits = 8');
RESET diskann.query_rescore;
SET diskann.query_rescore = -1;
SET diskann.query_rescore = 10001;

-- re-ranking reads the row version the scan's snapshot sees: rows deleted
-- or updated after CREATE INDEX (not yet vacuumed) are not returned, and
-- an updated vector is ranked by its new value
SET enable_seqscan = off;
BEGIN;
DELETE FROM dsto WHERE id IN (SELECT id FROM dsto
	ORDER BY embedding <-> (SELECT embedding FROM dsto_q WHERE qid = 1) LIMIT 3);
SELECT count(*) AS returned_deleted FROM (
	SELECT id FROM dsto ORDER BY embedding <-> (SELECT embedding FROM dsto_q WHERE qid = 1)
	LIMIT 10) x
WHERE id NOT IN (SELECT id FROM dsto);
ROLLBACK;
UPDATE dsto SET embedding = (SELECT embedding FROM dsto_q WHERE qid = 2) WHERE id = 777;
SELECT id FROM dsto ORDER BY embedding <-> (SELECT embedding FROM dsto_q WHERE qid = 2) LIMIT 1;
-- an expression index re-ranks by the expression's value
CREATE INDEX dsto_expr ON dsto USING diskann (((embedding * embedding)::vector(20)) vector_l2_ops);
SELECT id FROM dsto
ORDER BY (embedding * embedding)::vector(20) <-> (SELECT embedding * embedding FROM dsto WHERE id = 1234)
LIMIT 1;
DROP INDEX dsto_expr;
RESET enable_seqscan;

-- an index built on an empty table: its quantizer is centred at the origin
-- (quantizer_rows 0) and stays so as rows come in; REINDEX trains it
CREATE TABLE dsto_empty (id int, embedding vector(20));
CREATE INDEX dsto_empty_idx ON dsto_empty USING diskann (embedding);
SELECT storage, bits, quantizer_rows, live_nodes FROM diskann_stats('dsto_empty_idx');
INSERT INTO dsto_empty SELECT id, embedding FROM dsto;
SELECT storage, bits, quantizer_rows, live_nodes FROM diskann_stats('dsto_empty_idx');
SELECT * FROM diskann_verify('dsto_empty_idx');
SET enable_seqscan = off;
SELECT count(*) FILTER (WHERE x.id = y.id) AS same_nearest
FROM dsto_q q,
	LATERAL (SELECT id FROM dsto_empty ORDER BY embedding <-> q.embedding LIMIT 1) x,
	LATERAL (SELECT id FROM dsto ORDER BY (embedding <-> q.embedding) + 0 LIMIT 1) y;
REINDEX INDEX dsto_empty_idx;
SELECT storage, bits, quantizer_rows, live_nodes FROM diskann_stats('dsto_empty_idx');
RESET enable_seqscan;
DROP TABLE dsto_empty;

-- sizes: a compressed 20-d node holds a 4-bit code of 64 padded
-- dimensions (16 bytes of factors + 32 bytes) instead of 80 bytes
CREATE INDEX dsto_plain ON dsto USING diskann (embedding) WITH (storage = plain);
SELECT s.storage, s.bits, s.slot_size FROM diskann_stats('dsto_l2') s
UNION ALL
SELECT s.storage, s.bits, s.slot_size FROM diskann_stats('dsto_plain') s;
DROP TABLE dsto, dsto_q;
DROP FUNCTION dsto_check;
