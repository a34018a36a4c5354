/**
 * A contact that is neither merged into another nor being merged, nor erased: the guard of every contact
 * write (a capture racing an erase retries, finds the identities gone, and starts a new contact).
 */
export const NOT_MERGING =
  'attribute_not_exists(mergedInto) AND attribute_not_exists(mergingInto) AND attribute_not_exists(erasedAt)';

/**
 * A contact may be fenced as a merge's loser only while it is not being merged, is not receiving a merge
 * itself (what is still being copied into it would be left behind), and no merge of it is being undone.
 */
export const MAY_BE_MERGED_AWAY =
  'attribute_exists(pk) AND attribute_not_exists(mergedInto) AND (attribute_not_exists(mergingInto) OR mergingInto = :survivor) AND attribute_not_exists(pendingMerges) AND attribute_not_exists(unmerging) AND attribute_not_exists(erasedAt)';

/** Guards a write of possible duplicates: links written concurrently cannot take the set past its bound. */
export const DUPLICATES_ROOM =
  '(attribute_not_exists(possibleDuplicates) OR size(possibleDuplicates) <= :duplicatesBefore)';
