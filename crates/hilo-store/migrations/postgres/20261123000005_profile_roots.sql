-- Every fragment names the live profile it belongs to, so a customer's fragments are one
-- indexed lookup instead of a recursive walk: planners cannot estimate a recursive walk
-- and fell back to scanning whole tables. merged_into still records the merge tree
-- itself, which an unmerge needs.
ALTER TABLE profiles ADD COLUMN root_id TEXT;
WITH RECURSIVE r (id, root) AS (
    SELECT id, id FROM profiles WHERE merged_into IS NULL
    UNION ALL
    SELECT p.id, r.root FROM profiles p JOIN r ON p.merged_into = r.id
)
UPDATE profiles p SET root_id = r.root FROM r WHERE r.id = p.id;
CREATE INDEX profiles_by_root ON profiles (root_id);
