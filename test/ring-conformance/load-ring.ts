/**
 * Loads the ring sources (packages/sdk/src/ring) in a plain Node 24 process or worker:
 * the sources import each other with `.js` specifiers (tsc convention), so a resolve hook
 * maps a relative `.js` import that does not exist to its `.ts` file.
 */
import { registerHooks } from 'node:module';

registerHooks({
  resolve(specifier, context, next) {
    try {
      return next(specifier, context);
    } catch (e) {
      if (specifier.startsWith('.') && specifier.endsWith('.js')) return next(`${specifier.slice(0, -3)}.ts`, context);
      throw e;
    }
  },
});

export const ring: typeof import('../../packages/sdk/src/ring/index.ts') = await import('../../packages/sdk/src/ring/index.ts');
