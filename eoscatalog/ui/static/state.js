// The page's shared state: what api/info said, the number of the newest render (a render that
// finds a newer one started drops its answer), the sidebar's open folders.

export const state = { info: null, renderSeq: 0, expanded: new Set() };
