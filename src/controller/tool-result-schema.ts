/**
 * The content a `tool_result` block may carry, as a zod schema — the SDK's
 * `BetaToolResultBlockParam['content']` array, block type by block type.
 *
 * Not guessed: each schema is checked at compile time to be the same type as
 * the SDK's (both ways assignable), so an SDK upgrade that adds a block type or
 * a field fails the type-check here until the schema follows. Objects are
 * strict because the API refuses fields it does not know ("Extra inputs are
 * not permitted").
 *
 * zod is loaded on first use (a tool returning an array), not when the
 * controller is imported: it would add about a quarter to the controller's
 * import time (CLI start, every crash-test child) for a path most runs never take.
 */
import type {
  BetaBrowserStateBlockParam,
  BetaCacheControlEphemeral,
  BetaImageBlockParam,
  BetaRequestDocumentBlock,
  BetaSearchResultBlockParam,
  BetaTextBlockParam,
  BetaTextCitationParam,
  BetaToolReferenceBlockParam,
  BetaToolResultBlockParam,
} from '@anthropic-ai/sdk/resources/beta/messages/messages';
import { createRequire } from 'node:module';
import type { z as Z } from 'zod';

function build(z: typeof Z) {
  /** `?: T | null`, exactly (the tsconfig has exactOptionalPropertyTypes). */
  const nullish = <T extends Z.ZodType>(schema: T) => schema.nullable().exactOptional();

  const cacheControl = z.strictObject({ type: z.literal('ephemeral'), ttl: z.enum(['5m', '1h']).exactOptional() });

  const documentCitation = { cited_text: z.string(), document_index: z.number(), document_title: z.string().nullable() };
  const citation = z.discriminatedUnion('type', [
    z.strictObject({ ...documentCitation, type: z.literal('char_location'), start_char_index: z.number(), end_char_index: z.number() }),
    z.strictObject({ ...documentCitation, type: z.literal('page_location'), start_page_number: z.number(), end_page_number: z.number() }),
    z.strictObject({ ...documentCitation, type: z.literal('content_block_location'), start_block_index: z.number(), end_block_index: z.number() }),
    z.strictObject({ type: z.literal('web_search_result_location'), cited_text: z.string(), encrypted_index: z.string(), title: z.string().nullable(), url: z.string() }),
    z.strictObject({
      type: z.literal('search_result_location'),
      cited_text: z.string(),
      start_block_index: z.number(),
      end_block_index: z.number(),
      search_result_index: z.number(),
      source: z.string(),
      title: z.string().nullable(),
    }),
  ]);

  const textBlock = z.strictObject({
    type: z.literal('text'),
    text: z.string(),
    cache_control: nullish(cacheControl),
    citations: nullish(z.array(citation)),
  });

  const imageBlock = z.strictObject({
    type: z.literal('image'),
    source: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('base64'), media_type: z.enum(['image/jpeg', 'image/png', 'image/gif', 'image/webp']), data: z.string() }),
      z.strictObject({ type: z.literal('url'), url: z.string() }),
      z.strictObject({ type: z.literal('file'), file_id: z.string() }),
    ]),
    cache_control: nullish(cacheControl),
    transformations: nullish(z.strictObject({ oversized_image: z.enum(['downsize', 'error']).exactOptional() })),
  });

  const citationsConfig = z.strictObject({ enabled: z.boolean().exactOptional() });

  const searchResultBlock = z.strictObject({
    type: z.literal('search_result'),
    content: z.array(textBlock),
    source: z.string(),
    title: z.string(),
    cache_control: nullish(cacheControl),
    citations: citationsConfig.exactOptional(),
  });

  const documentBlock = z.strictObject({
    type: z.literal('document'),
    source: z.discriminatedUnion('type', [
      z.strictObject({ type: z.literal('base64'), media_type: z.literal('application/pdf'), data: z.string() }),
      z.strictObject({ type: z.literal('text'), media_type: z.literal('text/plain'), data: z.string() }),
      z.strictObject({ type: z.literal('content'), content: z.union([z.string(), z.array(z.discriminatedUnion('type', [textBlock, imageBlock]))]) }),
      z.strictObject({ type: z.literal('url'), url: z.string() }),
      z.strictObject({ type: z.literal('file'), file_id: z.string() }),
    ]),
    cache_control: nullish(cacheControl),
    citations: nullish(citationsConfig),
    context: nullish(z.string()),
    title: nullish(z.string()),
  });

  const toolReferenceBlock = z.strictObject({ type: z.literal('tool_reference'), tool_name: z.string(), cache_control: nullish(cacheControl) });

  const browserStateBlock = z.strictObject({
    type: z.literal('browser_state'),
    tabs: z.array(z.strictObject({ tab_id: z.string(), title: z.string(), url: z.string(), active: z.boolean().exactOptional() })),
    cache_control: nullish(cacheControl),
    state_changes: nullish(
      z.array(
        z.discriminatedUnion('type', [
          z.strictObject({ type: z.literal('tab_opened'), tab_id: z.string() }),
          z.strictObject({ type: z.literal('download_started'), download_id: z.string(), url: z.string() }),
          z.strictObject({ type: z.literal('download_completed'), download_id: z.string(), url: z.string(), path: nullish(z.string()), size_bytes: nullish(z.number()) }),
          z.strictObject({ type: z.literal('download_failed'), download_id: z.string(), url: z.string(), error: nullish(z.string()) }),
        ]),
      ),
    ),
  });

  const toolResultContentSchema = z.array(
    z.discriminatedUnion('type', [textBlock, imageBlock, searchResultBlock, documentBlock, toolReferenceBlock, browserStateBlock]),
  );
  return { cacheControl, citation, textBlock, imageBlock, searchResultBlock, documentBlock, toolReferenceBlock, browserStateBlock, toolResultContentSchema };
}

type Schemas = ReturnType<typeof build>;
let schemas: Schemas | undefined;

/** Array content of a tool_result: exactly the SDK's block types. */
export function toolResultContentSchema(): Schemas['toolResultContentSchema'] {
  schemas ??= build((createRequire(import.meta.url)('zod') as { z: typeof Z }).z);
  return schemas.toolResultContentSchema;
}

// Compile-time proof that each schema is the SDK's type, both ways.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type SchemaMatchesSdk = [
  Assert<Same<Z.output<Schemas['cacheControl']>, BetaCacheControlEphemeral>>,
  Assert<Same<Z.output<Schemas['citation']>, BetaTextCitationParam>>,
  Assert<Same<Z.output<Schemas['textBlock']>, BetaTextBlockParam>>,
  Assert<Same<Z.output<Schemas['imageBlock']>, BetaImageBlockParam>>,
  Assert<Same<Z.output<Schemas['searchResultBlock']>, BetaSearchResultBlockParam>>,
  Assert<Same<Z.output<Schemas['documentBlock']>, BetaRequestDocumentBlock>>,
  Assert<Same<Z.output<Schemas['toolReferenceBlock']>, BetaToolReferenceBlockParam>>,
  Assert<Same<Z.output<Schemas['browserStateBlock']>, BetaBrowserStateBlockParam>>,
  Assert<Same<Z.output<Schemas['toolResultContentSchema']>, Extract<BetaToolResultBlockParam['content'], unknown[]>>>,
];
