package config

import (
	"fmt"
	"strings"
	"time"
)

// BudgetConfig bounds the bytes of a disk store.
type BudgetConfig struct {
	Bytes  int64         // bytes the disk store may hold before it evicts; 0 means no budget
	Recent time.Duration // files read or written this recently are never evicted
}

func defaultBudget() BudgetConfig {
	return BudgetConfig{Recent: 10 * time.Minute}
}

func (c *Config) budgetSettings() []setting {
	b := &c.Budget
	return []setting{
		{name: "store-budget", usage: "bytes the disk store may hold, such as 500GiB: past it, the least recently used immutable files (module zips, archives, blobs, tarballs) are evicted down to 90%; metadata never is; 0 means no budget", size: &b.Bytes},
		{name: "store-budget-recent", usage: "with a store budget, files read or written this recently are never evicted", dur: &b.Recent},
	}
}

func (c *Config) validateBudget() error {
	if c.Budget.Bytes == 0 {
		return nil
	}
	if strings.HasPrefix(c.Storage, "s3://") {
		return fmt.Errorf("store-budget: applies to a disk store; on S3, use a lifecycle rule (see docs/deploy.md)")
	}
	if c.Budget.Recent < 0 {
		return fmt.Errorf("store-budget-recent: negative: %v", c.Budget.Recent)
	}
	return nil
}
