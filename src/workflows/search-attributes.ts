import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Registered on the dev server at start and by `pillowtop setup` on a real cluster. */
export const PILLOW_NAME = defineSearchAttributeKey('PillowName', SearchAttributeType.KEYWORD);
export const PILLOW_STATUS = defineSearchAttributeKey('PillowStatus', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = { PillowName: 'Keyword', PillowStatus: 'Keyword' } as const;
