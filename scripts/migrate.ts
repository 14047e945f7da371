/** `npm run db:migrate`: applies pending migrations (MIGRATION_DATABASE_URL, default the local owner). */
import { migrate } from '../db/migrate';

migrate()
  .then((r) => console.log(`migrations: ${r.applied.length} applied (${r.applied.join(', ') || 'none'}), ${r.alreadyApplied.length} already applied`))
  .catch((err) => {
    console.error(String(err.message ?? err));
    process.exit(1);
  });
