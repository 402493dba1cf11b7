export { assertNoLeaks } from './assert-no-leaks';
export { WASM_MEMORY_BUDGET_BYTES, ensureMemoryBudget } from './budget';
