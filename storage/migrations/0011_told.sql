-- What each request's student was told of its search for a referrer
-- (referral.Told: kinds separated by spaces), so a request bouncing
-- between referrers and waiting says each thing once.
ALTER TABLE requests ADD COLUMN told TEXT NOT NULL DEFAULT '';

-- Open requests whose student already had these notices queued keep them.
UPDATE requests SET told = trim(
        CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = requests.id AND o.kind = 'referrer_gone') THEN 'referrer_gone ' ELSE '' END
     || CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = requests.id AND o.kind = 'student_matched') THEN 'student_matched ' ELSE '' END
     || CASE WHEN EXISTS (SELECT 1 FROM outbox o WHERE o.request_id = requests.id AND o.kind IN ('waiting', 'referrer_gone')) THEN 'waiting' ELSE '' END)
WHERE state IN ('waiting', 'offered', 'accepted');
