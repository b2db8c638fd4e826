/**
 * @isthmus/runtime: what generated TypeScript views import. Views and builders over the
 * Isthmus byte layout (docs/layout.md), the descriptor types, and descriptor-driven
 * verify / toJSON / encode.
 */
export * from './descriptor.js';
export * from './errors.js';
export * from './views.js';
export { typeTable, verify, toJSON, encode, floatJSON, type TypeTable, type JsonValue } from './walk.js';
export { utf8InvalidAt, utf8Decode, utf8Length, utf8Write } from './utf8.js';
export { toBase64, fromBase64 } from './base64.js';
